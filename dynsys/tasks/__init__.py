"""Tasks for training recurrent networks, and a numpy trainer.

* :mod:`dynsys.tasks.flipflop` — the n-bit flip-flop of Sussillo & Barak (2013):
  ``generate(n_trials, n_steps, bits, p, seed)`` gives inputs, targets and mask.
* :mod:`dynsys.tasks.sinewave` — the sine-wave generator of Sussillo & Barak (2013):
  a static input level selects the frequency of a target sine wave,
  ``generate(n_trials, n_steps, n_levels, seed)``.
* :mod:`dynsys.tasks.train` — backpropagation through time in numpy (exact
  gradients), Adam and gradient clipping for PyTorch-layout tanh RNN, GRU and
  Euler-discretised continuous RNN cells; ``python -m dynsys.tasks.train flipflop
  --bits 3 --hidden 64 --seed 0 --out model.npz`` trains and saves a model
  that :func:`dynsys.rnn.load` reads; ``sinewave --steps 20,40,70,100`` trains the
  sine waves on a curriculum of growing trials.
"""
