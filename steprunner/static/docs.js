// Swagger UI on the document this server generates from its API steps.
// validatorUrl: null -- Swagger UI would otherwise ask an online validator for a badge.
window.ui = SwaggerUIBundle({
  url: "/__steprunner/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
