"""The run report: a dataclass tree (``model``), its serializations (``write``) and
the safe writing of output files (``outputs``)."""

from accelsim.report.model import Accuracy, Report, WorkloadInfo, build_report
from accelsim.report.outputs import check_outputs, write_atomically
from accelsim.report.plots import compare_png
from accelsim.report.write import (
    format_columns,
    format_compare,
    format_summary,
    format_table,
    outputs_npz,
    report_csv,
    report_json,
    trace_files,
    trace_paths,
)

__all__ = [
    "Accuracy",
    "Report",
    "WorkloadInfo",
    "build_report",
    "compare_png",
    "format_columns",
    "format_compare",
    "format_summary",
    "format_table",
    "outputs_npz",
    "report_csv",
    "report_json",
    "check_outputs",
    "trace_files",
    "trace_paths",
    "write_atomically",
]
