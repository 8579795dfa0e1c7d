// sdk_messages.js: the official `@anthropic-ai/sdk` client against
// immortal's .../messages route: a whole answer and a streamed one through
// a failover, and a streamed tool use. Exits non-zero with the reason on a
// mismatch.
// usage: NODE_PATH=... node sdk_messages.js BASE_URL GROUP TOOLS_GROUP
'use strict';
const sdk = require('@anthropic-ai/sdk');
const Anthropic = sdk.Anthropic || sdk.default || sdk;

const [base, group, toolsGroup] = process.argv.slice(2);
const client = new Anthropic({ baseURL: base, apiKey: 'k', maxRetries: 0 });

function expect(got, want, what) {
	if (JSON.stringify(got) !== JSON.stringify(want))
		throw new Error(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

async function main() {
	const messages = [{ role: 'user', content: 'hi' }];
	const whole = await client.messages.create({ model: group, max_tokens: 100, messages });
	expect(whole.content, [{ type: 'text', text: 'w1 w2 w3 w4 w5' }], 'whole content');
	expect(whole.stop_reason, 'end_turn', 'whole stop_reason');

	const stream = client.messages.stream({ model: group, max_tokens: 100, messages });
	let text = '';
	stream.on('text', (t) => { text += t; });
	const final = await stream.finalMessage();
	expect(text, 'w1 w2 w3 w4 w5', 'streamed text');
	expect(final.content[0].text, 'w1 w2 w3 w4 w5', 'final message');
	expect(final.usage.output_tokens, 5, 'final usage');

	const tools = [{ name: 'get_weather', description: 'weather',
		input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];
	const ts = client.messages.stream({ model: toolsGroup, max_tokens: 100, tools,
		messages: [{ role: 'user', content: 'weather?' }] });
	const tm = await ts.finalMessage();
	const use = tm.content.find((b) => b.type === 'tool_use');
	if (!use)
		throw new Error(`no tool_use block in ${JSON.stringify(tm.content)}`);
	expect([use.name, use.input, tm.stop_reason], ['get_weather', { city: 'Paris' }, 'tool_use'], 'tool use');
}

main().catch((e) => { console.error(`sdk_messages: ${e.stack || e}`); process.exit(1); });
