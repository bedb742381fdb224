"""The run report: a dataclass tree (``model``) and its serializations (``write``)."""

from accelsim.report.model import Report, WorkloadInfo, build_report
from accelsim.report.write import (
    format_columns,
    format_table,
    outputs_npz,
    report_csv,
    report_json,
    trace_files,
    write_atomically,
)

__all__ = [
    "Report",
    "WorkloadInfo",
    "build_report",
    "format_columns",
    "format_table",
    "outputs_npz",
    "report_csv",
    "report_json",
    "trace_files",
    "write_atomically",
]
