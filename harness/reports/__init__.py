"""Reports. One job per module; nothing is re-exported, so importing one (the eval command needs
only manifest and terminal) does not import jinja2 or junit_xml.

writers      write_reports(run, directory): the four sign-off files, each on its own, verified, then
             renamed in; ReportWriteError (the directory is checked first by fileio.check_output_dir)
json_report  signoff.json: the run, its verdict, summarize() counts
run_record   load_signoff / load_manifest: read a report back (schema version 1 or 2) in the current shape
junit        junit.xml: a suite per device and one for the host, a test case per (model, gate)
manifest     the one ModelConfig builder; manifest.json for the eval command and for a sign-off
html_page    signoff.html from templates/signoff.html.j2
svg          the inline SVG plots: parity-cosine histogram, per-text latency
terminal     what the CLI prints: the eval tables and the sign-off summary
verdict      verdict_of(run): passed | failed | no_verdict | interrupted, exit code, headline, why
sanitize     sanitized(run): the copy of a run every writer reads, whatever a device put in it
formatting   number, millisecond, byte formatters, device-string cleaning, the labels the reports share
"""
