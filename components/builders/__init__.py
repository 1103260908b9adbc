"""Pure builders of Kubernetes spec fragments: plain dicts in manifest shape, no Pulumi involved."""
