"""Chat prompts: the tokenizer's own chat template when it has one, a plain layout otherwise."""

from __future__ import annotations

from transformers import PreTrainedTokenizerBase

from faceqa.errors import InvalidInputError

# ChatML, as SmolLM2, Qwen and faceqa's tiny test model use it (no default system message).
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def chat_prompt(tokenizer: PreTrainedTokenizerBase, system: str | None, user: str) -> str:
    """The prompt text for one user turn, ready for the assistant's answer.

    With a chat template: ``apply_chat_template(..., add_generation_prompt=True)``; an empty
    ``system`` is left out (a template may then insert its own default). Without one:
    ``"{system}\\n\\nUser: {user}\\nAssistant:"``.
    """
    if not isinstance(user, str) or not user.strip():
        raise InvalidInputError("chat prompt: the user message is empty")
    if getattr(tokenizer, "chat_template", None):
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    head = f"{system}\n\n" if system else ""
    return f"{head}User: {user}\nAssistant:"
