"""The run report: a dataclass tree (``model``) and its serializations (``write``)."""

from accelsim.report.model import Accuracy, Report, WorkloadInfo, build_report
from accelsim.report.write import (
    compare_png,
    format_columns,
    format_compare,
    format_summary,
    format_table,
    outputs_npz,
    report_csv,
    report_json,
    trace_files,
    write_atomically,
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
    "trace_files",
    "write_atomically",
]
