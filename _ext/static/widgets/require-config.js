// Loaded before require.js on pages with widgets (see nb_ipywidgets_js in _config.yml).

// RequireJS reads a global `require` object as its configuration. The widget renderer
// (embed-amd.js) names its modules "@jupyter-widgets/..." and finds its icon fonts relative to
// where RequireJS thinks those modules live: by default the page's own folder
// (book/@jupyter-widgets/..., a 404). Setting the base URL to this folder makes that
// _static/widgets/@jupyter-widgets/html-manager/dist/, where the fonts are.
var require = { baseUrl: new URL(".", document.currentScript.src).href };

// The widgets typeset their labels with MathJax 2's API, MathJax.Hub.Queue(["Typeset", Hub, el]),
// whenever a page has MathJax; the book loads MathJax 3, which has no Hub (a TypeError for each
// label). Map that one call onto MathJax 3. The widgets render on the window's load event, after
// MathJax 3 has replaced its configuration object with itself; this listener runs first.
window.addEventListener("load", function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub || !mj.startup) return;
  mj.Hub = {
    Queue: function (job) {
      var element = job && job[2];
      return mj.startup.promise.then(function () { return mj.typesetPromise(element ? [element] : undefined); });
    },
  };
});
