OK_FORMAT = True

test = {   'name': 'q1',
    'points': 1,
    'suites': [   {   'cases': [   {   'code': '>>> from diffusion_edu.checks import sound as checks\n>>> assert checks.hz_to_mel(hz_to_mel)\n>>> assert checks.mel_to_hz(mel_to_hz)\n',
                                       'hidden': False,
                                       'locked': False}],
                      'scored': True,
                      'setup': '',
                      'teardown': '',
                      'type': 'doctest'}]}
