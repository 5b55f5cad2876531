"""The simulated enterprise network: scenario files become realistic pcaps plus their ground truth.

``scenario`` validates a scenario file, ``generator`` turns it into a time-ordered capture.
"""
