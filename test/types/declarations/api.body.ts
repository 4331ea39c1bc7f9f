// Shared body of the ESM and CommonJS declaration checks (test/types/declarations.test.ts adds the imports): `m` is
// the package as each kind of consumer resolves it, from the built declarations. A wrong type fails `tsc`.
type Mw = Middleware<DefaultState>;

// Values
expectTypeOf(m.mtlsOptions).parameter(0).toMatchTypeOf<m.MtlsOptionsInput>();
expectTypeOf(m.mtlsOptions).returns.toEqualTypeOf<m.MtlsServerOptions>();
expectTypeOf(m.watchCertificates).returns.toEqualTypeOf<m.CertificateWatcher>();
expectTypeOf(m.watchCertificates).parameter(2).toEqualTypeOf<m.CertificateWatcherOptions | undefined>();
expectTypeOf(m.onTlsClientRejected).parameter(1).toEqualTypeOf<m.AuditHook | undefined>();
expectTypeOf(m.onTlsClientRejected).returns.toEqualTypeOf<() => void>();
expectTypeOf(m.configureAudit).parameter(0).toEqualTypeOf<m.AuditConfiguration>();
expectTypeOf(m.configureAudit).returns.toEqualTypeOf<() => void>();
expectTypeOf(m.peerCertificate).returns.toMatchTypeOf<Mw>();
expectTypeOf(m.summarizePeer).parameter(0).toEqualTypeOf<m.PeerIdentity>();
expectTypeOf(m.summarizePeer).returns.toEqualTypeOf<m.PeerSummary>();
expectTypeOf(m.requirePeer({ anyPeer: true })).toMatchTypeOf<Middleware<m.PeerState>>();
expectTypeOf(m.explain).returns.toEqualTypeOf<Promise<m.Explanation>>();
expectTypeOf(m.createSandbox).returns.toEqualTypeOf<Promise<m.Sandbox>>();
expectTypeOf(m.sandboxPath).returns.toMatchTypeOf<Middleware<m.SandboxedState>>();
expectTypeOf(m.validateSandboxPath).returns.toEqualTypeOf<m.SandboxPathResult>();
expectTypeOf(m.describeRoutes).returns.toEqualTypeOf<readonly m.RouteDescription[]>();
expectTypeOf(m.openapiSecurity).returns.toEqualTypeOf<m.OpenApiDocument>();
expectTypeOf(m.auditContainer).returns.toEqualTypeOf<m.ContainerAuditReport>();
expectTypeOf<InstanceType<typeof m.KoaMtlsError>['code']>().toEqualTypeOf<m.KoaMtlsErrorCode>();
expectTypeOf<InstanceType<typeof m.InvalidOptionError>>().toMatchTypeOf<TypeError>();
expectTypeOf<InstanceType<typeof m.SandboxPathError>['reason']>().toMatchTypeOf<m.SandboxReason>();

// Types that are not reached above
expectTypeOf<m.AuditEvent['kind']>().toEqualTypeOf<m.AuditKind>();
expectTypeOf<m.PeerIdentity['source']>().toEqualTypeOf<m.PeerSource>();
expectTypeOf<m.PeerIdentity['san']>().toEqualTypeOf<m.SubjectAltNames>();
expectTypeOf<m.PeerIdentity['subject']>().toEqualTypeOf<m.DistinguishedName>();
expectTypeOf<m.PeerIdentity['keyUsage']>().toEqualTypeOf<readonly m.KeyUsage[]>();
expectTypeOf<m.AuthzDecision['mode']>().toEqualTypeOf<m.AuthzMode>();
expectTypeOf<m.RequestIdResolver>().toEqualTypeOf<(ctx: Context) => string | undefined>();
// Every SAN type of the policy language reaches the bundled declarations.
expectTypeOf<keyof m.SanRule>().toEqualTypeOf<'dns' | 'uri' | 'email' | 'ip' | 'upn'>();

// Narrowing: after an enforcing requirePeer the handler needs no `!`; without one, `peer` stays optional.
const router = new Router();
router.get('/orders', m.requirePeer({ anyPeer: true }), (ctx) => {
  expectTypeOf(ctx.state.peer).toEqualTypeOf<m.PeerIdentity>();
  ctx.body = ctx.state.peer.spiffeId;
});
router.get('/files/:name', m.sandboxPath({} as never), async (ctx) => {
  expectTypeOf(ctx.state.sandboxed).toEqualTypeOf<m.SandboxedRequestPath>();
  ctx.body = (await ctx.state.sandboxed.open()).createReadStream();
});
router.get(
  '/reports/:name',
  m.requirePeer({ anyPeer: true }),
  m.sandboxPath({} as never),
  async (ctx: RouterContext<m.PeerState & m.SandboxedState>) => {
    ctx.body = `${ctx.state.peer.subject} ${ctx.state.sandboxed.path}`;
  },
);
router.get('/dry-run', m.requirePeer({ anyPeer: true }, { mode: 'report' }), (ctx) => {
  expectTypeOf(ctx.state.peer).toEqualTypeOf<m.PeerIdentity | undefined>();
});
router.get('/open', (ctx: ParameterizedContext) => {
  expectTypeOf(ctx.state.peer).toEqualTypeOf<m.PeerIdentity | undefined>();
});
