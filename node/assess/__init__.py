"""Credit assessment off the chain (C5): the community simulator, the public history, the fitter.

``simulate`` builds a chain of funds, borrowers and loans through the real
runtime; ``history`` reads the loans, their outcomes and the features they
were scored on from any chain's state; ``fit`` fits the logistic model with
scikit-learn, checks it on later loans, and writes the coefficients, a
proposal and a report. ``credichain assess`` (node/cli/assess.py) runs them.
"""
