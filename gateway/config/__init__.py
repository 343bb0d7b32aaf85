"""Loading and validating an installation directory (site, bridges, rules, members).

Exception tree::

    ConfigError                 the installation cannot be used; ``issues`` lists the
                                errors, ``warnings`` what else looked wrong
"""
