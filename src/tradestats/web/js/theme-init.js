// The colour theme, applied before the first paint. A classic script linked from <head>
// (parser-blocking, so it runs before anything is drawn) because the CSP allows no inline
// script. It only sets <html data-theme="light|dark"> for an explicit choice; "system"
// leaves the attribute off and the CSS follows prefers-color-scheme. ui/theme.js owns the
// toggle and the same storage key.
(function () {
  'use strict';
  try {
    var choice = window.localStorage.getItem('tradestats.theme');
    if (choice === 'light' || choice === 'dark') document.documentElement.setAttribute('data-theme', choice);
  } catch (e) {
    // Storage disabled (privacy mode): follow the system.
  }
})();
