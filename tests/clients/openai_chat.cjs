// tests/clients/openai_chat.cjs: the official `openai` npm client, unchanged,
// against immortal, as a user's program would call it.
// usage: node openai_chat.cjs MODULE_DIR BASE_URL MODEL text|tools [stream|plain]
// Prints one line: the answer's text (text) or its first tool call as
// "NAME ARGUMENTS" (tools), then " | FINISH_REASON".
'use strict';
const [moduleDir, baseURL, model, what, mode] = process.argv.slice(2);
const { OpenAI } = require(moduleDir + '/openai');

const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
const tools = [{
	type: 'function',
	function: {
		name: 'get_weather', description: 'The weather in a city',
		parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
	},
}];

async function main() {
	const request = { model, messages: [{ role: 'user', content: 'hi' }] };
	if (what === 'tools')
		request.tools = tools;
	let text = '', finish = '';
	const calls = [];
	if (mode === 'plain') {
		const answer = await client.chat.completions.create(request);
		const choice = answer.choices[0];
		text = choice.message.content || '';
		for (const c of choice.message.tool_calls || [])
			calls.push({ name: c.function.name, args: c.function.arguments });
		finish = choice.finish_reason;
	} else {
		const stream = await client.chat.completions.create({ ...request, stream: true });
		for await (const chunk of stream) {
			const choice = chunk.choices[0];
			if (!choice)
				continue;
			text += choice.delta.content || '';
			for (const c of choice.delta.tool_calls || []) {
				calls[c.index] = calls[c.index] || { name: '', args: '' };
				calls[c.index].name += (c.function && c.function.name) || '';
				calls[c.index].args += (c.function && c.function.arguments) || '';
			}
			finish = choice.finish_reason || finish;
		}
	}
	const what_came = what === 'tools' && calls[0] ? `${calls[0].name} ${calls[0].args}` : text;
	console.log(`${what_came} | ${finish}`);
}

main().catch((e) => { console.log(`error: ${e.message}`); process.exit(1); });
