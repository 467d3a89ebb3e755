import Connectors
import Testing

@testable import EWSConnector

@Suite("Mail bodies: HTML to text and charset")
struct MailTextTests {
    @Test func outlookStyleHTMLBecomesReadableText() {
        let html = """
            <html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252"><style>p.MsoNormal{margin:0}</style></head>
            <body><p class=MsoNormal>Sehr geehrte Frau M&uuml;ller,</p><p class=MsoNormal>&nbsp;</p>
            <p class=MsoNormal>die Besichtigung ist am <b>Freitag</b>&nbsp;um 10&#58;00 &#x2013; bitte&nbsp;best&auml;tigen.<br>
            Mit freundlichen Gr&uuml;&szlig;en</p><table><tr><td>Tel.</td><td>0211 123</td></tr></table></body></html>
            """
        let text = MailText.plain(fromHTML: html)
        #expect(
            text == """
                Sehr geehrte Frau Müller,

                die Besichtigung ist am Freitag um 10:00 – bitte bestätigen.
                Mit freundlichen Grüßen
                \tTel.\t0211 123
                """)
        #expect(!text.contains("MsoNormal"), "style sheets are dropped")
    }

    @Test func declaredCharsetsBecomeUTF8() {
        #expect(
            MailText.declaringUTF8("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">")
                == "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">")
        #expect(MailText.declaringUTF8("<meta charset='windows-1252'>") == "<meta charset='utf-8'>")
        #expect(MailText.declaringUTF8("<p>no declaration</p>") == "<p>no declaration</p>")
    }
}
