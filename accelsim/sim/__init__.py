"""Simulation of one layer on the array: fold loop over the numba kernels (and, later, SimPy memory)."""
