from tests.security.site import site  # noqa: F401  (the package's running gateway)
