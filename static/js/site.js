// Runs before the page paints: lets the stylesheet hide the buttons that only
// matter without JavaScript (such as "Save" under the star widget).
document.documentElement.classList.replace("no-js", "js");
