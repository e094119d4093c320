// Swagger UI on the document this server generates from its API steps.
// validatorUrl: null -- Swagger UI would otherwise ask an online validator for a badge.
// With a staff key, the document is fetched with it, and "Try it out" requests carry it too.
import { authFetch, authHeaders } from "./auth.js";

async function start() {
  const response = await authFetch("/__steprunner/openapi.json");
  const spec = await response.json();
  const headers = await authHeaders();
  window.ui = SwaggerUIBundle({
    spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    requestInterceptor: (request) => {
      Object.assign(request.headers, headers);
      return request;
    },
  });
}

start();
