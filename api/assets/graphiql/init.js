// Starts GraphiQL against this server's /graphql: queries and mutations over HTTP, and
// subscriptions over a WebSocket on the same path (the headers editor's Authorization goes
// into connection_init). Served as a file, not inline, so the page's CSP forbids inline script.
(function () {
  'use strict';
  var url = new URL('/graphql', window.location.href);
  var socket = new URL(url.href);
  socket.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  var fetcher = GraphiQL.createFetcher({ url: url.href, subscriptionUrl: socket.href });
  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
    }),
  );
})();
