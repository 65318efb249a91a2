OK_FORMAT = True

test = {   'name': 'q3',
    'points': 3,
    'suites': [   {   'cases': [{'code': '>>> from diffusion_edu.checks import reverse_process as checks\n>>> assert checks.ddim_step(ddim_step)\n', 'hidden': False, 'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
