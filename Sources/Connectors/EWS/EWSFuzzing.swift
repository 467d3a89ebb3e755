import ConnectorAPI
import Foundation
import XML

/// Entry points for the fuzz targets (`Fuzz/`) into code this module keeps internal. Each takes
/// arbitrary bytes and must neither crash nor hang; errors are the expected outcome for most
/// inputs and are ignored.
public enum EWSFuzzingEntryPoints {
    /// An EWS response as it arrives: parsed as a stream (in two pieces, split where the input
    /// says), its response messages collected, and every item in them decoded as each kind.
    public static func ewsResponse(_ data: Data) {
        let split = data.isEmpty ? 0 : Int(data[data.startIndex]) % (data.count + 1)
        let collector = ResponseCollector()
        collector.feed(data.prefix(split))
        collector.feed(data.dropFirst(split))
        _ = collector.start
        guard (try? collector.finish()) != nil else { return }
        let codec = EWSRecordCodec(zone: TimeZone(identifier: "Europe/Berlin")!)
        for message in collector.messages {
            for item in message.element.child("Items")?.children ?? [] {
                for kind in DataKind.allCases { _ = try? codec.decode(item, kind: kind) }
            }
            _ = message.backOff
        }
    }

    /// A mail body: HTML to plain text, entities, the charset declaration and folding.
    public static func mailText(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        _ = MailText.plain(fromHTML: text)
        _ = MailText.declaringUTF8(text)
        _ = MailText.decodeEntities(text)
        _ = MailText.fold(text)
    }
}
