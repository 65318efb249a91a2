OK_FORMAT = True

test = {   'name': 'q2',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> from diffusion_edu.checks import sampling as checks\n>>> assert checks.half_log_snr(half_log_snr)\n>>> assert checks.dpmpp_1_step(dpmpp_1_step)\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
