"""Entry point the Pulumi engine runs for `pulumi preview --policy-pack policy`."""

from keelson_policy.pack import serve

serve()
