OK_FORMAT = True

test = {   'name': 'q3',
    'points': 3,
    'suites': [   {   'cases': [   {   'code': '>>> from diffusion_edu.checks import sound as checks\n'
                                               '>>> assert checks.cents(cents)\n'
                                               '>>> assert checks.cumulative_mean_normalized_difference(cumulative_mean_normalized_difference)\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
