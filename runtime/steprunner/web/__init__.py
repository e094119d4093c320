"""What a person sees: the flow view, traces, OpenAPI docs and their static pages."""
