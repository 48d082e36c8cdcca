"""Reports. One job per module; nothing is re-exported, so importing one (the eval command needs
only manifest and terminal) does not import jinja2 or junit_xml.

writers      write_reports(run, directory): the four sign-off files, each verified, then renamed in
json_report  signoff.json: summarize() counts and the run's document
junit        junit.xml: a suite per device and one for the host, a test case per (model, gate)
manifest     the one ModelConfig builder; manifest.json for the eval command and for a sign-off
html_page    signoff.html from templates/signoff.html.j2
svg          the inline SVG plots: parity-cosine histogram, per-text latency
terminal     what the CLI prints: the eval tables and the sign-off summary
formatting   number, millisecond, byte formatters and the labels the reports share
"""
