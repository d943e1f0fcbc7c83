"""The security rules of the platform's stacks as a pulumi-policy pack (``pulumi preview --policy-pack infra/policies``)."""
