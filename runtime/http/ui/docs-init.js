// @ts-check
/* global window */
// Served locally: no CDN, and no spec validator call to the internet (validatorUrl: null).

/** @type {(options: Record<string, unknown>) => unknown} set by /docs/swagger-ui-bundle.js */
const swaggerUiBundle = Reflect.get(window, 'SwaggerUIBundle');

Reflect.set(
  window,
  'ui',
  swaggerUiBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false,
    tryItOutEnabled: true,
  }),
);
