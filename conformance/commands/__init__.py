"""One module per `artconf` command family; each exposes `register(subparsers)`."""
