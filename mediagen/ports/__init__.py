"""typing.Protocol classes the application depends on; adapters satisfy them without inheriting."""
