// The CLASSP book: MathJax 2's Hub.Queue(["Typeset", MathJax.Hub, element]), which the ipywidgets
// HTML manager calls for every widget label, mapped onto MathJax 3's typesetPromise (see
// book/_ext/widgets_mathjax.py). Loaded with defer, after MathJax 3.
(function () {
  var mj = window.MathJax;
  if (!mj || !mj.version || mj.Hub) return;  // no MathJax 3 on this page, or a real MathJax 2
  mj.Hub = {
    Queue: function () {
      var elements = [];
      for (var i = 0; i < arguments.length; i++) {
        var job = arguments[i];
        if (Array.isArray(job) && job[0] === "Typeset" && job[2]) elements.push(job[2]);
      }
      var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
      ready.then(function () {
        if (mj.typesetPromise) return mj.typesetPromise(elements.length ? elements : undefined);
      }).catch(function (err) {
        console.warn("CLASSP book: MathJax could not typeset a widget label:", err);
      });
    }
  };
})();
