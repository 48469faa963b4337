/* global window, SwaggerUIBundle */
// Served locally: no CDN, and no spec validator call to the internet (validatorUrl: null).
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
  tryItOutEnabled: true,
});
