"""diffusion_edu: a small library for learning diffusion models, written to be read.

Each module backs one or two chapters of the book:

- :mod:`diffusion_edu.schedules`  noise schedules: beta, alpha, alpha_bar, SNR         (ch. 1)
- :mod:`diffusion_edu.forward`    q(x_t | x_0), the posterior, eps/x0/v/score maps    (ch. 1-2)
- :mod:`diffusion_edu.losses`     the training objectives                             (ch. 2)
- :mod:`diffusion_edu.samplers`   DDPM and DDIM                                       (ch. 2)
- :mod:`diffusion_edu.models`     denoising networks                                  (ch. 2)
- :mod:`diffusion_edu.data`       generated data sets (2D toys, pictures)             (ch. 1-2)
- :mod:`diffusion_edu.train`      the one training loop                               (ch. 2)
- :mod:`diffusion_edu.metrics`    sliced Wasserstein distance                         (ch. 2)
- :mod:`diffusion_edu.viz`        figure-returning plots; :mod:`diffusion_edu.widgets` sliders
- :mod:`diffusion_edu.profile`    smoke / cpu / gpu sizes, picked from the hardware
"""

__version__ = "0.1.0"
