import ConnectorAPI
import EWS
import Foundation
import HTTP

extension EWSAdapter: CheckableAdapter {
    /// Opens the kind's folder of the mailbox: this proves the server is reachable, the service
    /// account authenticates, and impersonation or delegate access to the folder works.
    public func check(for scope: EndpointScope) async -> [AdapterCheck] {
        let url = await ewsURL(for: scope.account)
        let mailbox = scope.account.settings[Self.accountDeclared.mailbox] ?? scope.account.name
        let access = settings[Self.settingsDeclared.access]
        let name = "\(mailbox) \(scope.kind) folder via \(url)"
        do {
            let endpoint = try await self.endpoint(for: scope)
            guard let ews = endpoint as? EWSEndpoint else {
                return [AdapterCheck(name: name, ok: true, message: "opened")]
            }
            let id = try await ews.folder.id()
            return [
                AdapterCheck(
                    name: name, ok: true,
                    message: "reachable, authenticated, \(access) access works (folder \(id.prefix(12))…)")
            ]
        } catch let error as HTTPError {
            let hint: String =
                switch error.kind {
                case .connect: "cannot reach the server: check the URL, DNS and firewall (TCP 443/80)"
                case .timeout: "the server did not answer in time: check the URL and the network"
                case .tls: "TLS failed: check the certificate, or give the CA with ca_file"
                case .proxy: "the proxy refused or is unreachable: check 'proxy'"
                default: "the connection failed"
                }
            return [AdapterCheck(name: name, ok: false, message: "\(hint) (\(error))")]
        } catch let fault as EWSFault {
            let hint: String =
                switch fault.code {
                case "HTTP401":
                    "authentication failed: check username and password of the service account (and auth: ntlm/basic)"
                case "ErrorImpersonateUserDenied":
                    "the service account may not impersonate \(mailbox): grant ApplicationImpersonation (New-ManagementRoleAssignment -Role ApplicationImpersonation -User <account>)"
                case "ErrorNonExistentMailbox":
                    "there is no mailbox \(mailbox) on this server: check the address in 'users' (or its url)"
                case "ErrorAccessDenied":
                    "the service account has no access to \(mailbox): grant delegate rights (Add-MailboxPermission -Identity \(mailbox) -User <account> -AccessRights FullAccess) or use impersonation"
                default: "Exchange refused: \(fault.code)"
                }
            // An answer that was not EWS, or a connection that failed, carries its whole explanation.
            if EWSAnswerCheck.explainedCodes.contains(fault.code) || fault.message.contains("instead of EWS") {
                return [AdapterCheck(name: name, ok: false, message: fault.message)]
            }
            return [AdapterCheck(name: name, ok: false, message: "\(hint) [\(fault.code): \(fault.message)]")]
        } catch {
            return [AdapterCheck(name: name, ok: false, message: "\(error)")]
        }
    }
}
