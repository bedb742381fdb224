"""Gate-level grounding of the energy model: netlists of the documented datapath, a NumPy
netlist evaluator (zero and unit delay), a Yosys driver and the ``accelsim gates`` report."""
