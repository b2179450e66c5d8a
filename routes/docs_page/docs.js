// Starts Swagger UI on the OpenAPI document. A file of its own (not inline) so that the page's
// CSP can forbid inline scripts.
"use strict";
globalThis.addEventListener("DOMContentLoaded", () => {
  globalThis.ui = globalThis.SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    // Nothing leaves for a third-party host (the public validator badge would).
    validatorUrl: null,
    tryItOutEnabled: false,
  });
});
