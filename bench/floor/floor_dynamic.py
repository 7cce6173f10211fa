"""A dynamic provider that does nothing, importable so Pulumi pickles it by reference like ours."""
from pulumi.dynamic import CreateResult, Resource, ResourceProvider


class NoopProvider(ResourceProvider):
    def create(self, props):
        return CreateResult(id_="noop", outs=props)


class Noop(Resource):
    def __init__(self, name, opts=None):
        super().__init__(NoopProvider(), name, {"value": "floor"}, opts)
