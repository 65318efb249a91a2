OK_FORMAT = True

test = {   'name': 'q1',
    'points': 1,
    'suites': [   {   'cases': [{'code': '>>> from diffusion_edu.checks import unet as checks\n>>> assert checks.sinusoidal_embedding(sinusoidal_embedding)\n', 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
