OK_FORMAT = True

test = {   'name': 'q2',
    'points': 2,
    'suites': [   {   'cases': [   {   'code': '>>> from diffusion_edu.checks import guidance as checks\n'
                                               '>>> assert checks.eps_from_score(eps_from_score)\n'
                                               '>>> assert checks.classifier_guided_eps(classifier_guided_eps)\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
