OK_FORMAT = True

test = {   'name': 'q1',
    'points': 1,
    'suites': [   {   'cases': [{'code': '>>> from diffusion_edu.checks import guidance as checks\n>>> assert checks.cfg_eps(cfg_eps)\n', 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
