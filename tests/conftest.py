"""Suite-wide settings.

Hypothesis: no deadline and no "too slow" health check. Both are timings, and the
suite runs four workers beside real servers and browsers on a two-core machine,
where an example that takes 60 ms alone can take 300 ms: a property test fails on
what it finds, never on how long the machine took (a flaky test is a broken test).
"""

from hypothesis import HealthCheck, settings

settings.register_profile("suite", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")
