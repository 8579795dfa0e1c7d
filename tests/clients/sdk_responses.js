// sdk_responses.js: the official `openai` client against immortal's
// .../responses route: a streamed answer through a failover, a whole one,
// and a streamed tool call. Exits non-zero with the reason on a mismatch.
// usage: NODE_PATH=... node sdk_responses.js BASE_URL GROUP TOOLS_GROUP
'use strict';
const OpenAI = require('openai');

const [base, group, toolsGroup] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base, apiKey: 'k', maxRetries: 0 });

function expect(got, want, what) {
	if (JSON.stringify(got) !== JSON.stringify(want))
		throw new Error(`${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

async function main() {
	const whole = await client.responses.create({ model: group, input: 'hi', store: false });
	expect(whole.output_text, 'w1 w2 w3 w4 w5', 'whole output_text');
	expect(whole.usage.total_tokens, 8, 'whole usage');

	const stream = client.responses.stream({ model: group, input: 'hi', store: false });
	let text = '';
	stream.on('response.output_text.delta', (e) => { text += e.delta; });
	const done = await stream.finalResponse();
	expect(text, 'w1 w2 w3 w4 w5', 'streamed text');
	expect(done.output_text, 'w1 w2 w3 w4 w5', 'final output_text');
	expect(done.status, 'completed', 'final status');

	const tools = [{ type: 'function', name: 'get_weather', strict: false,
		parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
	const ts = await client.responses.create({ model: toolsGroup, input: 'weather?', tools, stream: true });
	let call = null;
	for await (const e of ts)
		if (e.type === 'response.output_item.done' && e.item.type === 'function_call')
			call = e.item;
	if (call === null)
		throw new Error('no function_call item');
	expect([call.name, JSON.parse(call.arguments)], ['get_weather', { city: 'Paris' }], 'tool call');
}

main().catch((e) => { console.error(`sdk_responses: ${e.stack || e}`); process.exit(1); });
