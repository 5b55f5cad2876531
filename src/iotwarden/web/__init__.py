"""The web console: Jinja2 templates, static assets (htmx and cytoscape.js vendored) and the page routes."""
