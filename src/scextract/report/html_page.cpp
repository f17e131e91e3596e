#include "scextract/report/html_page.hpp"

#include "scextract/io/svg_plot.hpp"

#include <fmt/format.h>

namespace scx::report {

std::string html_page_head(std::string_view title, std::string_view extra_css) {
    return fmt::format(R"(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{}</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 14px; color: #222; margin: 24px auto; max-width: 1280px; padding: 0 16px; }}
h1 {{ font-size: 24px; margin-bottom: 4px; }} h2 {{ font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }}
th, td {{ border: 1px solid #ddd; padding: 3px 8px; text-align: right; vertical-align: top; }}
td {{ white-space: nowrap; }} td.text {{ white-space: normal; }}
th {{ background: #f5f5f5; }} th[scope=row] {{ text-align: left; background: #fafafa; }}
td.text, th.text {{ text-align: left; }}
td.best {{ font-weight: bold; background: #e3f2e1; }}
td.na {{ color: #999; text-align: center; }} td.other {{ background: #fbfbfb; }}
tr.group th {{ text-align: left; background: #eef2f7; }}
tr.sig td.sigcell {{ font-weight: bold; color: #0b5d1e; }}
.cls {{ display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; white-space: nowrap; }}
.cls-supervised {{ background: #dbe9f6; }} .cls-unsupervised {{ background: #fbe5c8; }} .cls-none {{ background: #eee; color: #666; }}
.ref {{ font-size: 11px; color: #666; font-weight: normal; }}
.note {{ color: #666; font-size: 12px; }}
code, pre {{ background: #f6f6f6; padding: 1px 4px; }} pre {{ padding: 8px; overflow-x: auto; font-size: 12px; }}
figure {{ margin: 12px 0 28px; }} figure svg {{ max-width: 100%; height: auto; display: block; }}
figcaption {{ font-size: 13px; color: #444; max-width: 1100px; margin-top: 6px; }}
p.missing {{ color: #999; font-style: italic; }}
div.wide {{ overflow-x: auto; max-width: 100%; }}
span.better {{ color: #0b5d1e; font-weight: bold; }} span.worse {{ color: #a11; font-weight: bold; }}
{}</style>
</head>
<body>
)",
                       svg::escape(title), extra_css);
}

} // namespace scx::report
