// Swagger UI on the API's own OpenAPI document, from the vendored swagger-ui-dist: a file of
// its own, since the page's Content-Security-Policy allows no inline script.
"use strict";

window.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
  });
});
