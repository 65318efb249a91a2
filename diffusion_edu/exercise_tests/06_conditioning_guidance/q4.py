OK_FORMAT = True

test = {   'name': 'q4',
    'points': 3,
    'suites': [   {   'cases': [{'code': '>>> from diffusion_edu.checks import guidance as checks\n>>> assert checks.cfg_forward(cfg_forward)\n', 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
