import SambatCore
import SambatDesk

/// Draws a trend as an inline SVG bar chart: per span, a bar of cases received and one of
/// cases closed, with the largest value and the spans' dates as labels.
///
/// Pure: the same points give the same markup. Only numbers and dates reach the markup,
/// so nothing in it needs escaping; styling comes from the stylesheet's classes (the pages'
/// content security policy allows no inline style).
enum TrendChart {
    static let width = 720
    static let height = 220
    static let margin = (left: 36, bottom: 26, top: 12)

    /// The chart's markup for `points` of `period`.
    static func svg(_ points: [TrendPoint], period: TrendPeriod) -> String {
        let largest = max(1, points.map { max($0.received, $0.closed) }.max() ?? 1)
        let plotWidth = width - margin.left - 8
        let plotHeight = height - margin.bottom - margin.top
        let slot = Double(plotWidth) / Double(max(1, points.count))
        let bar = max(1.0, slot * 0.38)
        func y(_ value: Int) -> Double {
            Double(margin.top) + Double(plotHeight) * (1 - Double(value) / Double(largest))
        }
        func number(_ value: Double) -> String { String(Int(value.rounded())) }
        var parts: [String] = [
            "<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" "
                + "aria-label=\"Pengaduan masuk dan ditutup per \(label(period))\">",
            "<line class=\"axis\" x1=\"\(margin.left)\" y1=\"\(height - margin.bottom)\" "
                + "x2=\"\(width - 8)\" y2=\"\(height - margin.bottom)\"/>",
            "<text x=\"\(margin.left - 4)\" y=\"\(margin.top + 4)\" text-anchor=\"end\">\(largest)</text>",
            "<text x=\"\(margin.left - 4)\" y=\"\(height - margin.bottom)\" text-anchor=\"end\">0</text>",
        ]
        let every = max(1, points.count / 6)
        for (index, point) in points.enumerated() {
            let x = Double(margin.left) + slot * Double(index) + slot * 0.1
            for (offset, value, kind) in [(0.0, point.received, "received"), (bar, point.closed, "closed")] {
                let top = y(value)
                parts.append(
                    "<rect class=\"\(kind)\" x=\"\(number(x + offset))\" y=\"\(number(top))\" "
                        + "width=\"\(number(bar))\" height=\"\(number(Double(height - margin.bottom) - top))\">"
                        + "<title>\(Presentation.date(point.start)): \(value) "
                        + "\(kind == "received" ? "masuk" : "ditutup")</title></rect>"
                )
            }
            if index % every == 0 {
                parts.append(
                    "<text x=\"\(number(x))\" y=\"\(height - 8)\">\(short(point.start, period))</text>"
                )
            }
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    /// "hari", "minggu" or "bulan".
    static func label(_ period: TrendPeriod) -> String {
        switch period {
        case .day: "hari"
        case .week: "minggu"
        case .month: "bulan"
        }
    }

    private static func short(_ date: CivilDate, _ period: TrendPeriod) -> String {
        period == .month
            ? "\(Presentation.months[date.month - 1]) \(date.year % 100)"
            : "\(date.day) \(Presentation.months[date.month - 1])"
    }
}
