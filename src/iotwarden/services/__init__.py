"""Use cases the CLI, the API and the web UI call: thin shells stay thin (STYLE: mitmproxy core)."""
